SELECT DISTINCT
  `t0`.`manufacturer`,
  `t0`.`model`
FROM `planes` AS `t0`
WHERE
  `t0`.`seats` > 300
