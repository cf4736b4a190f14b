SELECT
  `t4`.`tzone`,
  AVG(`t4`.`distance`) AS `avg_distance`
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
    `t3`.`faa`,
    `t3`.`name`,
    `t3`.`lat`,
    `t3`.`lon`,
    `t3`.`alt`,
    `t3`.`tz`,
    `t3`.`dst`,
    `t3`.`tzone`
  FROM `flights` AS `t2`
  INNER JOIN `airports` AS `t3`
    ON `t2`.`dest` = `t3`.`faa`
) AS `t4`
GROUP BY
  1
