# Image for the Pendo source connector.
#
# The base is Airbyte's Python connector base (Python 3.11, user `airbyte`, uid 1000),
# pinned by digest; metadata.yaml's data.connectorBuildOptions.baseImage names the same
# image and unit_tests/test_metadata.py keeps the two in step.
FROM docker.io/airbyte/python-connector-base:4.0.2@sha256:9fdb1888c4264cf6fee473649ecb593f56f58e5d0096a87ee0b231777e2e3e73

WORKDIR /airbyte/integration_code

# Dependencies first, exactly as poetry.lock pins them (hashes checked), in a layer that
# only a change of the lock rebuilds. See .dockerignore for what stays out of the context.
COPY poetry.lock ./
COPY scripts/lock_requirements.py ./scripts/
RUN python scripts/lock_requirements.py --groups main > /tmp/requirements-lock.txt \
    && pip install --no-cache-dir --require-hashes --no-deps -r /tmp/requirements-lock.txt \
    && rm /tmp/requirements-lock.txt

# The package itself; its dependencies are all in place already.
# The real base image already has the `airbyte` user; a bare Python image has not,
# so create it only when it is missing (same uid as the base image's).
COPY pyproject.toml README.md main.py ./
COPY source_pendo ./source_pendo
RUN pip install --no-cache-dir --no-deps . \
    && if ! id -u airbyte >/dev/null 2>&1; then \
         useradd --uid 1000 --user-group --no-create-home --shell /usr/sbin/nologin airbyte; \
       fi

ENV AIRBYTE_ENTRYPOINT="python /airbyte/integration_code/main.py"
ENTRYPOINT ["python", "/airbyte/integration_code/main.py"]

LABEL io.airbyte.name=airbyte/source-pendo
LABEL io.airbyte.version=1.0.0

# Numeric, so that a runtime enforcing "run as non-root" (Kubernetes runAsNonRoot)
# can verify it without reading /etc/passwd; uid 1000 is `airbyte` in both bases.
USER 1000
