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
ENV ENVIRONMENT=production
EXPOSE 8000
CMD ["collab", "serve", "--host", "0.0.0.0", "--port", "8000"]
