SELECT
  COUNT(*) AS "n_airlines"
FROM (
  SELECT
    *
  FROM "airlines" AS "t0"
  WHERE
    RIGHT("t0"."name", LENGTH('Inc.')) = 'Inc.'
) AS "t1"
