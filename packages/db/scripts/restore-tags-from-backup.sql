-- Copy tags and favorites back from a backup of a Lumen SQLite database (see docs/operations.md,
-- "Recovering"). Attach the backup as `backup` first, with the services stopped:
--
--   sqlite3 "$DATA_DIR/lumen.db" -cmd "ATTACH '/backups/lumen-old.db' AS backup" \
--     < packages/db/scripts/restore-tags-from-backup.sql
--
-- Only content that exists in the database now (present or missing) gets rows back; tags are
-- matched by name (created when absent), users by user name. Nothing is changed or deleted, only
-- what is missing is added; running it twice adds nothing the second time.
BEGIN;

INSERT INTO tags (name, name_normalized, created_at)
SELECT b.name, b.name_normalized, b.created_at
FROM backup.tags b
WHERE NOT EXISTS (SELECT 1 FROM tags t WHERE t.name_normalized = b.name_normalized)
  AND EXISTS (SELECT 1 FROM backup.tagged_photo btp WHERE btp.tag_id = b.id);

-- Where content lives now: a present row first, else a missing one (lowest id).
CREATE TEMP TABLE restore_location AS
SELECT content_hash, library_id, rel_path FROM (
  SELECT content_hash, library_id, rel_path,
         ROW_NUMBER() OVER (PARTITION BY content_hash ORDER BY kind, id) AS n
  FROM (
    SELECT content_hash, library_id, rel_path, id, 0 AS kind FROM image_exif WHERE content_hash IS NOT NULL
    UNION ALL
    SELECT content_hash, library_id, rel_path, id, 1 AS kind FROM image_exif_missing WHERE content_hash IS NOT NULL
  )
) WHERE n = 1;

INSERT OR IGNORE INTO tagged_photo (tag_id, library_id, rel_path, content_hash, created_at)
SELECT t.id, loc.library_id, loc.rel_path, btp.content_hash, btp.created_at
FROM backup.tagged_photo btp
JOIN backup.tags bt ON bt.id = btp.tag_id
JOIN tags t ON t.name_normalized = bt.name_normalized
JOIN restore_location loc ON loc.content_hash = btp.content_hash;

INSERT OR IGNORE INTO favorites (user_id, library_id, rel_path, content_hash, created_at)
SELECT u.id, loc.library_id, loc.rel_path, bf.content_hash, bf.created_at
FROM backup.favorites bf
JOIN backup.users bu ON bu.id = bf.user_id
JOIN users u ON u.username = bu.username
JOIN restore_location loc ON loc.content_hash = bf.content_hash;

DROP TABLE restore_location;
COMMIT;
