SELECT
  *
FROM (
  SELECT
    CAST(DATE_TRUNC('week', `t0`.`time_hour`) AS DATE) AS `week_start`,
    COUNT(*) AS `n_flights`
  FROM `flights` AS `t0`
  GROUP BY
    1
) AS `t1`
ORDER BY
  `t1`.`week_start` ASC NULLS LAST
