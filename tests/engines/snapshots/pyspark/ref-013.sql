SELECT
  *
FROM (
  SELECT
    `t1`.`month`,
    `t1`.`n_flights`,
    `t1`.`n_flights` - LAG(`t1`.`n_flights`) OVER (ORDER BY `t1`.`month` ASC NULLS LAST) AS `change`
  FROM (
    SELECT
      `t0`.`month`,
      COUNT(*) AS `n_flights`
    FROM `flights` AS `t0`
    GROUP BY
      1
  ) AS `t1`
) AS `t2`
ORDER BY
  `t2`.`month` ASC NULLS LAST
