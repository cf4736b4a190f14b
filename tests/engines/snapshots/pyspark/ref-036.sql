SELECT
  *
FROM (
  SELECT
    `t2`.`date`,
    `t2`.`n_flights`,
    `t2`.`n_flights` - LAG(`t2`.`n_flights`) OVER (ORDER BY `t2`.`date` ASC NULLS LAST) AS `change`
  FROM (
    SELECT
      CAST(`t1`.`time_hour` AS DATE) AS `date`,
      COUNT(*) AS `n_flights`
    FROM (
      SELECT
        *
      FROM `flights` AS `t0`
      WHERE
        `t0`.`origin` = 'EWR' AND `t0`.`month` = 1
    ) AS `t1`
    GROUP BY
      1
  ) AS `t2`
) AS `t3`
ORDER BY
  `t3`.`date` ASC NULLS LAST
