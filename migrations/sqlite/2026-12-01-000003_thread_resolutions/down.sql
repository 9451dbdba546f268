ALTER TABLE threads DROP COLUMN resolutions;
