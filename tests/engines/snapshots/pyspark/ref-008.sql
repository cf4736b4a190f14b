SELECT
  `t8`.`name`,
  `t8`.`manufacturer`,
  `t8`.`n_flights`
FROM (
  SELECT
    `t7`.`name`,
    `t7`.`manufacturer`,
    `t7`.`n_flights`,
    ROW_NUMBER() OVER (
      PARTITION BY `t7`.`name`
      ORDER BY `t7`.`n_flights` DESC, `t7`.`manufacturer` ASC NULLS LAST
    ) - 1 AS `rank`
  FROM (
    SELECT
      `t6`.`name`,
      `t6`.`manufacturer`,
      COUNT(*) AS `n_flights`
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
        `t4`.`year` AS `year_right`,
        `t4`.`type`,
        `t4`.`manufacturer`,
        `t4`.`model`,
        `t4`.`engines`,
        `t4`.`seats`,
        `t4`.`speed`,
        `t4`.`engine`,
        `t5`.`name`
      FROM `flights` AS `t3`
      INNER JOIN `planes` AS `t4`
        ON `t3`.`tailnum` = `t4`.`tailnum`
      INNER JOIN `airlines` AS `t5`
        ON `t3`.`carrier` = `t5`.`carrier`
    ) AS `t6`
    GROUP BY
      1,
      2
  ) AS `t7`
) AS `t8`
WHERE
  `t8`.`rank` = 0
