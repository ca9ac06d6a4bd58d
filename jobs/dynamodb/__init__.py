"""The DynamoDB side: tables, the batch writer, the load and verification tasks."""
