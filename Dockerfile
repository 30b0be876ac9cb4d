# syntax=docker/dockerfile:1
# role-usage-monitor: `docker build -t role-usage-monitor .`, then
# `docker run role-usage-monitor run --config /etc/role-monitor/config.yaml`.
# Two stages: wheels are built with the full toolchain, the runtime image only installs them.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY detectors ./detectors
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/role-monitor monitor
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels role-usage-monitor
USER monitor
# The state database (`state.path`) lives here; mount a volume to keep it across restarts.
WORKDIR /var/lib/role-monitor
# Prometheus metrics (`metrics.port`).
EXPOSE 9464
ENTRYPOINT ["role-monitor"]
CMD ["--help"]
