# The dashboard (web/) is built with Node.js, then served by the gateway from web/dist.
FROM node:20-slim AS dashboard
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web ./
RUN npm run build

FROM python:3.11-slim
WORKDIR /app
# Dependencies from the lock, every artifact's hash checked (a layer that changes only
# with requirements.txt); then the project itself, without dependencies.
COPY requirements.txt ./
RUN pip install --no-cache-dir --require-hashes -r requirements.txt
COPY pyproject.toml README.md LICENSE ./
# The packages of pyproject.toml's [tool.setuptools.packages.find], one COPY each
# (tests/ops/test_image.py holds the two lists equal; scripts/check-image.sh runs them).
COPY collab collab
COPY infra infra
COPY gateway gateway
COPY schema schema
COPY workers workers
COPY models models
COPY domain domain
RUN pip install --no-cache-dir --no-deps --no-build-isolation .
COPY --from=dashboard /web/dist /app/web/dist
ENV ENVIRONMENT=production DASHBOARD_DIR=/app/web/dist
EXPOSE 8000
CMD ["collab", "serve", "--host", "0.0.0.0", "--port", "8000"]
