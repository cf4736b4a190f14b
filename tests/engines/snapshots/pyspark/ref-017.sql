SELECT
  *
FROM (
  SELECT
    `t0`.`dest`,
    COUNT(*) AS `n_flights`
  FROM `flights` AS `t0`
  GROUP BY
    1
) AS `t1`
WHERE
  `t1`.`n_flights` > 10000
