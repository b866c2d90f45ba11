# Image for the Pendo source connector.
#
# The base is Airbyte's Python connector base (Python 3.11, user `airbyte`, uid 1000),
# pinned by digest; metadata.yaml's data.connectorBuildOptions.baseImage names the same
# image and unit_tests/test_metadata.py keeps the two in step.
FROM docker.io/airbyte/python-connector-base:4.0.2@sha256:9fdb1888c4264cf6fee473649ecb593f56f58e5d0096a87ee0b231777e2e3e73

WORKDIR /airbyte/integration_code

# Only what `pip install .` and the entrypoint need (see .dockerignore for the rest).
COPY pyproject.toml README.md main.py ./
COPY source_pendo ./source_pendo

# The package's own dependency ranges live in pyproject.toml; pip resolves them here.
# The real base image already has the `airbyte` user; a bare Python image has not,
# so create it only when it is missing (same uid as the base image's).
RUN pip install --no-cache-dir . \
    && if ! id -u airbyte >/dev/null 2>&1; then \
         useradd --uid 1000 --user-group --no-create-home --shell /usr/sbin/nologin airbyte; \
       fi

ENV AIRBYTE_ENTRYPOINT="python /airbyte/integration_code/main.py"
ENTRYPOINT ["python", "/airbyte/integration_code/main.py"]

LABEL io.airbyte.name=airbyte/source-pendo
LABEL io.airbyte.version=0.2.0

# Numeric, so that a runtime enforcing "run as non-root" (Kubernetes runAsNonRoot)
# can verify it without reading /etc/passwd; uid 1000 is `airbyte` in both bases.
USER 1000
