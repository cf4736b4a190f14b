SELECT
  `t2`.`day_of_week`,
  `t2`.`n_flights`
FROM (
  SELECT
    `t1`.`day_index`,
    `t1`.`day_of_week`,
    COUNT(*) AS `n_flights`
  FROM (
    SELECT
      `t0`.`year`,
      `t0`.`month`,
      `t0`.`day`,
      `t0`.`dep_time`,
      `t0`.`sched_dep_time`,
      `t0`.`dep_delay`,
      `t0`.`arr_time`,
      `t0`.`sched_arr_time`,
      `t0`.`arr_delay`,
      `t0`.`carrier`,
      `t0`.`flight`,
      `t0`.`tailnum`,
      `t0`.`origin`,
      `t0`.`dest`,
      `t0`.`air_time`,
      `t0`.`distance`,
      `t0`.`hour`,
      `t0`.`minute`,
      `t0`.`time_hour`,
      CASE (
          DAYOFWEEK(`t0`.`time_hour`) + 5
        ) % 7
        WHEN 0
        THEN 'Monday'
        WHEN 1
        THEN 'Tuesday'
        WHEN 2
        THEN 'Wednesday'
        WHEN 3
        THEN 'Thursday'
        WHEN 4
        THEN 'Friday'
        WHEN 5
        THEN 'Saturday'
        WHEN 6
        THEN 'Sunday'
      END AS `day_of_week`,
      (
        DAYOFWEEK(`t0`.`time_hour`) + 5
      ) % 7 AS `day_index`
    FROM `flights` AS `t0`
  ) AS `t1`
  GROUP BY
    1,
    2
) AS `t2`
ORDER BY
  `t2`.`day_index` ASC NULLS LAST
