SELECT
  COUNT(*) AS `n_cancelled`
FROM (
  SELECT
    *
  FROM `flights` AS `t0`
  WHERE
    `t0`.`dep_time` IS NULL
) AS `t1`
