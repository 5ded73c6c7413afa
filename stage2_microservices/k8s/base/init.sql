-- One database per service (database-per-service); the services create their own tables.
CREATE DATABASE identity;
CREATE DATABASE devices;
CREATE DATABASE telemetry;
CREATE DATABASE alerts;
