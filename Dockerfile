# Image for the application processes: gateway, action server, migrations, workers.
# (The Rasa server uses the official rasa/rasa image; see docker-compose.yml.)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# The OCR models for KTP photos (issue 30: Indonesian, and English to confirm the NIK); libtesseract itself comes with the
# tesserocr wheel. Photos are read in memory: nothing is written to the image's disk.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr-ind tesseract-ocr-eng \
    && rm -rf /var/lib/apt/lists/*

COPY requirements/app.txt requirements/app.txt
RUN pip install --no-cache-dir -r requirements/app.txt

COPY pyproject.toml README.md ./
COPY bot bot
COPY actions actions
COPY nlu nlu
RUN pip install --no-cache-dir --no-deps . \
    && useradd --system --uid 1001 --home /app sadar
USER sadar

EXPOSE 8000 5055
CMD ["uvicorn", "bot.gateway.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
