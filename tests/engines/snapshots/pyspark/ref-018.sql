SELECT
  *
FROM (
  SELECT
    `t1`.`month`,
    AVG(`t1`.`temp`) AS `avg_temp`
  FROM (
    SELECT
      *
    FROM `weather` AS `t0`
    WHERE
      `t0`.`origin` = 'JFK'
  ) AS `t1`
  GROUP BY
    1
) AS `t2`
ORDER BY
  `t2`.`month` ASC NULLS LAST
