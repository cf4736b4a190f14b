SELECT
  `t4`.`visib` < 1 AS `low_visibility`,
  AVG(`t4`.`dep_delay`) AS `avg_dep_delay`,
  COUNT(*) AS `n_flights`
FROM (
  SELECT
    `t2`.`year`,
    `t2`.`month`,
    `t2`.`day`,
    `t2`.`dep_time`,
    `t2`.`sched_dep_time`,
    `t2`.`dep_delay`,
    `t2`.`arr_time`,
    `t2`.`sched_arr_time`,
    `t2`.`arr_delay`,
    `t2`.`carrier`,
    `t2`.`flight`,
    `t2`.`tailnum`,
    `t2`.`origin`,
    `t2`.`dest`,
    `t2`.`air_time`,
    `t2`.`distance`,
    `t2`.`hour`,
    `t2`.`minute`,
    `t2`.`time_hour`,
    `t3`.`year` AS `year_right`,
    `t3`.`month` AS `month_right`,
    `t3`.`day` AS `day_right`,
    `t3`.`hour` AS `hour_right`,
    `t3`.`temp`,
    `t3`.`dewp`,
    `t3`.`humid`,
    `t3`.`wind_dir`,
    `t3`.`wind_speed`,
    `t3`.`wind_gust`,
    `t3`.`precip`,
    `t3`.`pressure`,
    `t3`.`visib`
  FROM `flights` AS `t2`
  INNER JOIN `weather` AS `t3`
    ON `t2`.`origin` = `t3`.`origin` AND `t2`.`time_hour` = `t3`.`time_hour`
) AS `t4`
GROUP BY
  1
