SELECT
  *
FROM (
  SELECT
    `t2`.`date`,
    `t2`.`precip`,
    SUM(`t2`.`precip`) OVER (
      ORDER BY `t2`.`date` ASC NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS `running_precip`
  FROM (
    SELECT
      CAST(`t1`.`time_hour` AS DATE) AS `date`,
      SUM(`t1`.`precip`) AS `precip`
    FROM (
      SELECT
        *
      FROM `weather` AS `t0`
      WHERE
        `t0`.`origin` = 'JFK' AND `t0`.`month` = 1
    ) AS `t1`
    GROUP BY
      1
  ) AS `t2`
) AS `t3`
ORDER BY
  `t3`.`date` ASC NULLS LAST
