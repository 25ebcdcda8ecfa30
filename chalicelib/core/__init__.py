"""What every capability shares: settings, resource names, AWS clients, errors, clock, logs, SQS batches."""
