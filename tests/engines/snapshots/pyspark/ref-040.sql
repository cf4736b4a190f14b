SELECT
  `t0`.`origin`,
  `t0`.`month`,
  AVG(`t0`.`wind_speed`) AS `avg_wind_speed`
FROM `weather` AS `t0`
GROUP BY
  1,
  2
