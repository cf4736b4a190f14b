SELECT
  COUNT(*) AS `n_airlines`
FROM (
  SELECT
    *
  FROM `airlines` AS `t0`
  WHERE
    ENDSWITH(`t0`.`name`, 'Inc.')
) AS `t1`
