-- Runs once, when the PostgreSQL volume is first created: Rasa's tracker store gets its own
-- database next to the application's ("sadar", created from POSTGRES_DB).
CREATE DATABASE rasa;
