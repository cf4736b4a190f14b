SELECT
  "t0"."name",
  "t0"."lat",
  "t0"."lon"
FROM "airports" AS "t0"
WHERE
  POSITION('Intercontinental' IN "t0"."name") > 0
