SELECT
  `t0`.`carrier`,
  `t0`.`flight`,
  `t0`.`origin`,
  `t0`.`dest`,
  `t0`.`distance` / (
    `t0`.`air_time` / 60
  ) AS `speed_mph`
FROM `flights` AS `t0`
WHERE
  `t0`.`air_time` > 0
ORDER BY
  `t0`.`distance` / (
    `t0`.`air_time` / 60
  ) DESC
LIMIT 5
