SELECT
  COUNT(*) AS "n_flights"
FROM (
  SELECT
    *
  FROM "flights" AS "t0"
  WHERE
    (
      CAST(EXTRACT('dow' FROM "t0"."time_hour") + 6 AS SMALLINT) % 7
    ) >= 5
) AS "t1"
