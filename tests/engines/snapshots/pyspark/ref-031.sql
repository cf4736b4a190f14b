SELECT
  *
FROM (
  SELECT
    `t0`.`hour`,
    AVG(`t0`.`dep_delay`) AS `avg_dep_delay`
  FROM `flights` AS `t0`
  GROUP BY
    1
) AS `t1`
ORDER BY
  `t1`.`avg_dep_delay` DESC
LIMIT 1
