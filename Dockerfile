# narrator worker image: the package plus Prefect's process worker. Used by docker-compose.yml.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY narrator narrator
COPY flows flows
COPY prompts prompts
COPY templates templates
RUN pip install --no-cache-dir ".[dask]"
ENTRYPOINT ["narrator"]
