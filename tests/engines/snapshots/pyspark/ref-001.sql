SELECT
  COUNT(*) AS `n_flights`
FROM (
  SELECT
    *
  FROM `flights` AS `t0`
  WHERE
    `t0`.`origin` = 'JFK' AND `t0`.`month` = 1
) AS `t1`
