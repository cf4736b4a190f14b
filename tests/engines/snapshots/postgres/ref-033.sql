SELECT DISTINCT
  "t0"."manufacturer"
FROM "planes" AS "t0"
WHERE
  POSITION('AIRBUS' IN "t0"."manufacturer") > 0
