SELECT
  `t0`.`name`,
  `t0`.`lat`,
  `t0`.`lon`
FROM `airports` AS `t0`
WHERE
  CONTAINS(`t0`.`name`, 'Intercontinental')
