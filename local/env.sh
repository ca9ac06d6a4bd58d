# Sourced by the local scripts: where the local stack listens and how the job reaches it.
# The emulator accepts any credentials; these are placeholders, not secrets.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export M2D_VENV="${M2D_VENV:-$REPO/.venv}"
export M2D_MYSQL_PORT="${M2D_MYSQL_PORT:-13306}"
export M2D_DYNAMO_PORT="${M2D_DYNAMO_PORT:-18000}"
export MYSQL_PASSWORD="${MYSQL_PASSWORD:-m2d-local-pw}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export PYSPARK_PYTHON="$M2D_VENV/bin/python"
export PYSPARK_DRIVER_PYTHON="$M2D_VENV/bin/python"
export SPARK_LOCAL_IP=127.0.0.1
export M2D_JDBC_JAR="${M2D_JDBC_JAR:-/usr/share/java/mariadb-java-client.jar}"
export SPARK_CONF_DIR="${SPARK_CONF_DIR:-$REPO/conf/spark}"
