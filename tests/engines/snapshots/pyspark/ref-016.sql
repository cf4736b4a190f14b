SELECT
  COUNT(DISTINCT `t1`.`tailnum`) AS `n_planes`
FROM (
  SELECT
    *
  FROM `flights` AS `t0`
  WHERE
    `t0`.`origin` = 'LGA'
) AS `t1`
