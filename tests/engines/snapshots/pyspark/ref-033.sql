SELECT DISTINCT
  `t0`.`manufacturer`
FROM `planes` AS `t0`
WHERE
  CONTAINS(`t0`.`manufacturer`, 'AIRBUS')
