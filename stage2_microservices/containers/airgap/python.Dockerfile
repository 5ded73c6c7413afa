# A stand-in for python:3.11-slim where no registry can be reached: Debian bookworm's own
# Python 3.11 on a debootstrap root file system imported as DEBIAN_IMAGE (see ../images.py).
# What the service Dockerfiles rely on behaves as in the official image: `python` on PATH,
# `python -m venv` with pip (ensurepip), useradd, bash.
ARG DEBIAN_IMAGE=homesense-local/debian:bookworm
FROM ${DEBIAN_IMAGE}
ENV LANG=C.UTF-8
RUN ln -s /usr/bin/python3 /usr/local/bin/python \
    && python -m venv /tmp/probe && rm -rf /tmp/probe
CMD ["python3"]
