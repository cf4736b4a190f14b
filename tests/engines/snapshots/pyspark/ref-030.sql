SELECT
  `t1`.`origin`,
  `t1`.`n_flights`,
  (
    `t1`.`n_flights` * 100
  ) / SUM(`t1`.`n_flights`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS `pct_of_flights`
FROM (
  SELECT
    `t0`.`origin`,
    COUNT(*) AS `n_flights`
  FROM `flights` AS `t0`
  GROUP BY
    1
) AS `t1`
