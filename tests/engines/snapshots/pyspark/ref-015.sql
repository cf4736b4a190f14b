SELECT
  *
FROM (
  SELECT
    `t0`.`carrier`,
    AVG(CAST(`t0`.`dep_time` IS NULL AS INT)) * 100 AS `pct_cancelled`
  FROM `flights` AS `t0`
  GROUP BY
    1
) AS `t1`
ORDER BY
  `t1`.`pct_cancelled` DESC
