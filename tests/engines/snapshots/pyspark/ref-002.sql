SELECT
  `t0`.`carrier`,
  `t0`.`flight`,
  `t0`.`origin`,
  `t0`.`dest`,
  `t0`.`dep_delay`
FROM `flights` AS `t0`
WHERE
  `t0`.`month` = 12 AND `t0`.`day` = 25 AND `t0`.`dep_delay` > 180
ORDER BY
  `t0`.`dep_delay` DESC
