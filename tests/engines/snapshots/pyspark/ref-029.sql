SELECT
  `t7`.`name` AS `airline`,
  COUNT(DISTINCT `t7`.`dest`) AS `n_destinations`
FROM (
  SELECT
    `t3`.`year`,
    `t3`.`month`,
    `t3`.`day`,
    `t3`.`dep_time`,
    `t3`.`sched_dep_time`,
    `t3`.`dep_delay`,
    `t3`.`arr_time`,
    `t3`.`sched_arr_time`,
    `t3`.`arr_delay`,
    `t3`.`carrier`,
    `t3`.`flight`,
    `t3`.`tailnum`,
    `t3`.`origin`,
    `t3`.`dest`,
    `t3`.`air_time`,
    `t3`.`distance`,
    `t3`.`hour`,
    `t3`.`minute`,
    `t3`.`time_hour`,
    `t4`.`name`
  FROM `flights` AS `t3`
  LEFT SEMI JOIN (
    SELECT
      *
    FROM `airports` AS `t2`
    WHERE
      `t2`.`tzone` = 'America/Los_Angeles'
  ) AS `t6`
    ON `t3`.`dest` = `t6`.`faa`
  INNER JOIN `airlines` AS `t4`
    ON `t3`.`carrier` = `t4`.`carrier`
) AS `t7`
GROUP BY
  1
