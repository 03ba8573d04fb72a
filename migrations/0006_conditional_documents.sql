-- Conditional requests: the validators (ETag, Last-Modified) of the documents a job's gather read,
-- by URL, and how many documents the remote answered 304 for (nothing read, nothing parsed).
ALTER TABLE harvest_job ADD COLUMN documents jsonb;
ALTER TABLE harvest_job ADD COLUMN documents_not_modified integer NOT NULL DEFAULT 0;
