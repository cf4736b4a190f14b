SELECT
  "t0"."carrier",
  "t0"."flight",
  "t0"."origin",
  "t0"."dest",
  CAST("t0"."distance" AS DOUBLE PRECISION) / (
    CAST("t0"."air_time" AS DOUBLE PRECISION) / 60
  ) AS "speed_mph"
FROM "flights" AS "t0"
WHERE
  "t0"."air_time" > 0
ORDER BY
  CAST("t0"."distance" AS DOUBLE PRECISION) / (
    CAST("t0"."air_time" AS DOUBLE PRECISION) / 60
  ) DESC NULLS LAST
LIMIT 5
