SELECT
  `t0`.`origin`,
  COUNT(*) AS `n_flights`
FROM `flights` AS `t0`
GROUP BY
  1
