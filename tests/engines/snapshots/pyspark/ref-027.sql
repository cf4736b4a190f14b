SELECT
  COUNT(*) AS `n_flights`
FROM (
  SELECT
    *
  FROM `flights` AS `t0`
  WHERE
    `t0`.`distance` BETWEEN 1000 AND 2000
) AS `t1`
