# The dashboard (web/) is built with Node.js, then served by the gateway from web/dist.
FROM node:20-slim AS dashboard
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web ./
RUN npm run build

FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY collab collab
COPY gateway gateway
COPY schema schema
COPY workers workers
COPY models models
COPY domain domain
RUN pip install --no-cache-dir .
COPY --from=dashboard /web/dist /app/web/dist
ENV ENVIRONMENT=production DASHBOARD_DIR=/app/web/dist
EXPOSE 8000
CMD ["collab", "serve", "--host", "0.0.0.0", "--port", "8000"]
