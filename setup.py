from setuptools import find_packages, setup

setup(
    name="mysql2dynamodb",
    version="0.1.0",
    description="PySpark batch job that migrates whole MySQL databases into Amazon DynamoDB",
    packages=find_packages(include=["jobs", "jobs.*", "mapping", "mapping.*"]),
    python_requires=">=3.9",
    install_requires=["boto3>=1.28", "pymysql>=1.0", "mysql-replication>=1.0.17,<1.1"],
    extras_require={
        "spark": ["pyspark>=3.5,<3.6"],
        # moto only serves a local S3 for the s3:// path tests
        "test": [
            "pyspark>=3.5,<3.6",
            "pytest>=7",
            "pytest-xdist>=3",  # two workers, each with its own servers: the suite's waits overlap
            "chispa>=0.9",
            "moto[server]>=5",
            "ruff==0.17.6",  # pinned: a new ruff release may format or lint differently
            "mypy>=1.10",
            "hypothesis>=6",  # the split's exactly-once invariant as a property, the server deciding
            "awsglue-dev==2021.12.30",  # AWS's own getResolvedOptions, so the Glue entry is tested against it
            "mkdocs==1.6.1",  # the manual under docs/, built in strict mode by make check
        ],
    },
)
