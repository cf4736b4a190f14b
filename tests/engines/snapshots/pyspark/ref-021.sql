SELECT
  *
FROM (
  SELECT
    `t0`.`manufacturer`,
    COUNT(*) AS `n_planes`
  FROM `planes` AS `t0`
  GROUP BY
    1
) AS `t1`
WHERE
  `t1`.`n_planes` > 100
