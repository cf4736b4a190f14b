SELECT
  *
FROM (
  SELECT
    `t4`.`name`,
    AVG(`t4`.`dep_delay`) AS `avg_dep_delay`
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
      `t3`.`name`
    FROM `flights` AS `t2`
    INNER JOIN `airlines` AS `t3`
      ON `t2`.`carrier` = `t3`.`carrier`
  ) AS `t4`
  GROUP BY
    1
) AS `t5`
WHERE
  `t5`.`avg_dep_delay` > 15
